"""A bucket anyone can read: public access block switched off and a bucket policy for Principal '*'."""

import json

import pulumi_aws as aws

TAGS = {
    "jamaa:region": "MA-07",
    "jamaa:environment": "lab",
    "jamaa:data-class": "public",
    "jamaa:cost-centre": "DGCT-R07",
    "jamaa:managed-by": "pulumi",
}
NAME = "broken-public-bucket"

bucket = aws.s3.Bucket("site", bucket=NAME, tags=TAGS)
aws.s3.BucketPublicAccessBlock(
    "site-public-access",
    bucket=NAME,
    block_public_acls=False,
    block_public_policy=False,
    ignore_public_acls=False,
    restrict_public_buckets=False,
)
aws.s3.BucketPolicy(
    "site-policy",
    bucket=NAME,
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicRead",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{NAME}/*",
                }
            ],
        }
    ),
)
