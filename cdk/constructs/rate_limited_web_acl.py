"""An AWS WAF web ACL for one API Gateway stage: a per-IP rate-based rule (limit from configuration) and the AWS
managed known-bad-inputs rule group, with CloudWatch metrics and sampled requests on every rule.
"""

from __future__ import annotations

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

_Acl = wafv2.CfnWebACL


def _visibility(metric_name: str) -> _Acl.VisibilityConfigProperty:
    return _Acl.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


class RateLimitedWebAcl(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage_arn: str, requests_per_5_minutes: int, metric_prefix: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.web_acl = _Acl(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=_Acl.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{metric_prefix}WebAcl"),
            rules=[
                _Acl.RuleProperty(
                    name="RateLimitPerIp",
                    priority=0,
                    action=_Acl.RuleActionProperty(block={}),
                    statement=_Acl.StatementProperty(
                        rate_based_statement=_Acl.RateBasedStatementProperty(
                            limit=requests_per_5_minutes, aggregate_key_type="IP", evaluation_window_sec=300
                        )
                    ),
                    visibility_config=_visibility(f"{metric_prefix}RateLimitPerIp"),
                ),
                _Acl.RuleProperty(
                    name="KnownBadInputs",
                    priority=1,
                    override_action=_Acl.OverrideActionProperty(none={}),
                    statement=_Acl.StatementProperty(
                        managed_rule_group_statement=_Acl.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name="AWSManagedRulesKnownBadInputsRuleSet"
                        )
                    ),
                    visibility_config=_visibility(f"{metric_prefix}KnownBadInputs"),
                ),
            ],
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
