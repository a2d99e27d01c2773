"""Personal data (Law 09-08) in a region no recorded CNDP authorisation covers, citing a made-up one."""

import pulumi
import pulumi_aws as aws

TAGS = {
    "jamaa:region": "MA-07",
    "jamaa:environment": "lab",
    "jamaa:data-class": "personal",
    "jamaa:cost-centre": "DGCT-R07",
    "jamaa:managed-by": "pulumi",
    "jamaa:cndp-authorisation": "CNDP-AT-NOT-ISSUED",
}

stockholm = aws.Provider("stockholm", region="eu-north-1")
aws.s3.Bucket(
    "requests",
    bucket="broken-citizen-requests",
    tags=TAGS,
    opts=pulumi.ResourceOptions(provider=stockholm),
)
