"""`jamaa audit`: read a live AWS account (boto3) and report the tenancy invariants with control ids."""
