"""Budgets and cost allocation: a monthly budget for the region (and one per dedicated commune),
alerts to an encrypted SNS topic, and the mandatory tags activated as cost allocation tags."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from tenancy.context import Tenancy, child, policy_json

COMMUNE_TAG = "jamaa:commune"


@dataclass
class BudgetsArgs:
    monthly_usd: int
    kms_key_arn: pulumi.Input[str]
    cost_tags: list[str]  # activated here (with jamaa:commune); empty: the payer account does it
    dedicated_communes: dict[str, int] = field(default_factory=dict)  # commune → monthly USD


class Budgets(pulumi.ComponentResource):
    def __init__(
        self, tenancy: Tenancy, args: BudgetsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jamaa:budgets:Budgets", tenancy.name("budgets"), None, opts)
        name = tenancy.name
        topic_name = name("budget-alerts")
        topic = aws.sns.Topic(
            topic_name,
            name=topic_name,
            kms_master_key_id=args.kms_key_arn,
            tags=tenancy.tags(topic_name),
            opts=child(self),
        )
        aws.sns.TopicPolicy(
            name("budget-alerts-policy"),
            arn=topic.arn,
            policy=policy_json(
                [
                    {
                        "Sid": "BudgetsPublish",
                        "Effect": "Allow",
                        "Principal": {"Service": "budgets.amazonaws.com"},
                        "Action": "SNS:Publish",
                        "Resource": tenancy.arn("sns", topic_name),
                        "Condition": {"StringEquals": {"aws:SourceAccount": tenancy.account_id}},
                    },
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "SNS:Publish",
                        "Resource": tenancy.arn("sns", topic_name),
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ]
            ),
            opts=child(self),
        )
        self._budget(
            tenancy, name("budget"), args.monthly_usd, "jamaa:region", tenancy.region.code, topic, None
        )
        for commune, usd in sorted(args.dedicated_communes.items()):
            self._budget(tenancy, name("budget", commune), usd, COMMUNE_TAG, commune, topic, commune)
        for tag in sorted({*args.cost_tags, COMMUNE_TAG} if args.cost_tags else ()):
            aws.costexplorer.CostAllocationTag(
                name("cost-tag", tag.replace(":", "-")), tag_key=tag, status="Active", opts=child(self)
            )
        self.register_outputs({"alerts": topic.arn})

    def _budget(
        self,
        tenancy: Tenancy,
        budget_name: str,
        usd: int,
        tag: str,
        value: str,
        topic: aws.sns.Topic,
        commune: str | None,
    ) -> None:
        aws.budgets.Budget(
            budget_name,
            name=budget_name,
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=str(usd),
            limit_unit="USD",
            cost_filters=[
                aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=[f"user:{tag}${value}"])
            ],
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    comparison_operator="GREATER_THAN",
                    notification_type=kind,
                    threshold=threshold,
                    threshold_type="PERCENTAGE",
                    subscriber_sns_topic_arns=[topic.arn],
                )
                for kind, threshold in (("ACTUAL", 80), ("FORECASTED", 100))
            ],
            tags=tenancy.tags(budget_name, commune=commune),
            opts=child(self),
        )
