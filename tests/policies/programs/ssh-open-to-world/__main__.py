"""SSH and RDP open to the whole internet."""

import pulumi_aws as aws

TAGS = {
    "jamaa:region": "MA-07",
    "jamaa:environment": "lab",
    "jamaa:data-class": "internal",
    "jamaa:cost-centre": "DGCT-R07",
    "jamaa:managed-by": "pulumi",
}

vpc = aws.ec2.Vpc("vpc", cidr_block="10.71.0.0/16", tags=TAGS)
group = aws.ec2.SecurityGroup(
    "admin",
    vpc_id=vpc.id,
    description="admin access",
    ingress=[
        aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=22, to_port=22, cidr_blocks=["0.0.0.0/0"])
    ],
    tags=TAGS,
)
aws.vpc.SecurityGroupIngressRule(
    "rdp-v6",
    security_group_id=group.id,
    cidr_ipv6="::/0",
    from_port=3389,
    to_port=3389,
    ip_protocol="tcp",
    tags=TAGS,
)
