"""The servers' backup bucket without Object Lock, and a server role allowed every S3 action on it:
ransomware on one server deletes every version of every server's backups."""

import json

import pulumi_aws as aws

TAGS = {
    "jamaa:region": "MA-07",
    "jamaa:environment": "lab",
    "jamaa:data-class": "personal",
    "jamaa:cost-centre": "DGCT-R07",
    "jamaa:managed-by": "pulumi",
}
BUCKET = "jamaa-ma-07-lab-host-backups-eu-south-2"

aws.s3.Bucket("host-backups", bucket=BUCKET, tags=TAGS)
aws.iam.Policy(
    "server-backups",
    name="server-backups",
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Backups",
                    "Effect": "Allow",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                }
            ],
        }
    ),
    tags=TAGS,
)
