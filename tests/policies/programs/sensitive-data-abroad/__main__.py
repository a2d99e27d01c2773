"""Sensitive data (Decree 2-24-921) in an AWS region outside the national list."""

import pulumi
import pulumi_aws as aws

TAGS = {
    "jamaa:region": "MA-07",
    "jamaa:environment": "lab",
    "jamaa:data-class": "sensitive",
    "jamaa:cost-centre": "DGCT-R07",
    "jamaa:managed-by": "pulumi",
}

ireland = aws.Provider("ireland", region="eu-west-1")
aws.s3.Bucket(
    "civil-status",
    bucket="broken-civil-status",
    tags=TAGS,
    opts=pulumi.ResourceOptions(provider=ireland),
)
