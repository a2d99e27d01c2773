"""Broken on purpose: tries to disable the policy pack from inside the program, then opens SSH to
the world. The check runs the program in a worker process, so none of this reaches the rules."""

import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws

# 1. Patch the rules and the engine, as a program sharing the checker's process could.
sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "policies"))
try:
    import jamaa_policies.framework as framework
    import jamaa_policies.network as network

    import jamaa.policy.engine as engine

    engine.evaluate = lambda *args, **kwargs: None  # type: ignore[assignment]
    network.sg_ingress_rule_no_world_admin_ports.__code__ = (lambda *a: None).__code__
    framework.REGISTRY.clear()
except ImportError:
    pass

# 2. Forge a clean result on standard output.
print('{"passed": true, "violations": [], "policies": []}')

# 3. The defect.
provider = aws.Provider("eu", region="eu-south-2")
group = aws.ec2.SecurityGroup(
    "bastion", description="bastion", opts=pulumi.ResourceOptions(provider=provider)
)
aws.vpc.SecurityGroupIngressRule(
    "ssh-from-anywhere",
    security_group_id=group.id,
    ip_protocol="tcp",
    from_port=22,
    to_port=22,
    cidr_ipv4="0.0.0.0/0",
    opts=pulumi.ResourceOptions(provider=provider),
)
