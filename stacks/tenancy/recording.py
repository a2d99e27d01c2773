"""AWS Config in one account: a recorder, its delivery channel and its status in each region the
account uses (AWS allows one recorder per account and region), and the role they share. Global
resources (IAM) are recorded in the first region only, so they are not recorded twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from tenancy.context import assume_role_policy, child

CONFIG_ROLE_POLICY = "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"


@dataclass
class RecordingArgs:
    regions: list[str]  # the first one records global resources
    bucket: str
    key_prefix: str
    kms_key_arn: pulumi.Input[str] | None


class ConfigRecording(pulumi.ComponentResource):
    recorders: dict[str, aws.cfg.Recorder]

    def __init__(self, ctx: Any, args: RecordingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("jamaa:audit:ConfigRecording", ctx.name("config"), None, opts)
        role_name = ctx.name("config-recorder")
        role = aws.iam.Role(
            ctx.name("config-role"),
            name=role_name,
            assume_role_policy=assume_role_policy("config.amazonaws.com", ctx.account_id),
            tags=ctx.tags(ctx.name("config-role")),
            opts=child(self),
        )
        aws.iam.RolePolicyAttachment(
            ctx.name("config-role-managed"), role=role.name, policy_arn=CONFIG_ROLE_POLICY, opts=child(self)
        )
        self.recorders = {}
        for index, region in enumerate(args.regions):
            suffix = [] if index == 0 else [region]
            recorder = aws.cfg.Recorder(
                ctx.name("config-recorder", *suffix),
                name=ctx.name("config"),
                role_arn=ctx.role_arn(role_name),
                recording_group=aws.cfg.RecorderRecordingGroupArgs(
                    all_supported=True, include_global_resource_types=index == 0
                ),
                region=region,
                opts=child(self, depends_on=[role]),
            )
            channel = aws.cfg.DeliveryChannel(
                ctx.name("config-delivery", *suffix),
                name=ctx.name("config"),
                s3_bucket_name=args.bucket,
                s3_key_prefix=args.key_prefix,
                s3_kms_key_arn=args.kms_key_arn,
                snapshot_delivery_properties=aws.cfg.DeliveryChannelSnapshotDeliveryPropertiesArgs(
                    delivery_frequency="TwentyFour_Hours"
                ),
                region=region,
                opts=child(self, depends_on=[recorder]),
            )
            aws.cfg.RecorderStatus(
                ctx.name("config-recorder-status", *suffix),
                name=recorder.name,
                is_enabled=True,
                region=region,
                opts=child(self, depends_on=[channel]),
            )
            self.recorders[region] = recorder
        self.register_outputs({"regions": args.regions})
