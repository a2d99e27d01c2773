"""Broken on purpose: relies on the default provider, which the project config points at us-east-1."""

import pulumi_aws as aws

aws.kms.Key("key", enable_key_rotation=True, deletion_window_in_days=30)
