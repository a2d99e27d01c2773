"""A backup vault without Vault Lock: an intruder can delete every recovery point."""

import pulumi_aws as aws

TAGS = {
    "jamaa:region": "MA-07",
    "jamaa:environment": "lab",
    "jamaa:data-class": "internal",
    "jamaa:cost-centre": "DGCT-R07",
    "jamaa:managed-by": "pulumi",
}

aws.backup.Vault(
    "vault",
    name="broken-vault",
    kms_key_arn="arn:aws:kms:eu-south-2:000000000000:key/00000000-0000-0000-0000-000000000000",
    tags=TAGS,
)
