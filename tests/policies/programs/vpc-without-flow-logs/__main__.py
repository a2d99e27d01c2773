"""A VPC nobody watches: no flow log."""

import pulumi_aws as aws

TAGS = {
    "jamaa:region": "MA-07",
    "jamaa:environment": "lab",
    "jamaa:data-class": "internal",
    "jamaa:cost-centre": "DGCT-R07",
    "jamaa:managed-by": "pulumi",
}

aws.ec2.Vpc("vpc", cidr_block="10.71.0.0/16", enable_dns_hostnames=True, tags=TAGS)
