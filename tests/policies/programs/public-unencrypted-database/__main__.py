"""A PostgreSQL database reachable from the internet, storage unencrypted."""

import pulumi_aws as aws

TAGS = {
    "jamaa:region": "MA-07",
    "jamaa:environment": "lab",
    "jamaa:data-class": "personal",
    "jamaa:cost-centre": "DGCT-R07",
    "jamaa:managed-by": "pulumi",
}

aws.rds.Instance(
    "citizens",
    engine="postgres",
    engine_version="17",
    instance_class="db.t4g.micro",
    allocated_storage=20,
    username="postgres",
    manage_master_user_password=True,
    publicly_accessible=True,
    storage_encrypted=False,
    backup_retention_period=35,
    skip_final_snapshot=True,
    tags=TAGS,
)
