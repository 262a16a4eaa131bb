"""An AWS WAF web ACL for one API Gateway stage: a per-IP rate-based rule (limit from configuration), an optional
stricter per-IP rate rule scoped to the public paths (signed approval links, webhooks) and the AWS managed
known-bad-inputs rule group, with CloudWatch metrics and sampled requests on every rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

_Acl = wafv2.CfnWebACL


def _visibility(metric_name: str) -> _Acl.VisibilityConfigProperty:
    return _Acl.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


class RateLimitedWebAcl(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_arn: str,
        requests_per_5_minutes: int,
        metric_prefix: str,
        public_path_prefixes: Sequence[str] = (),
        public_requests_per_5_minutes: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        public_rules = []
        if public_path_prefixes and public_requests_per_5_minutes:
            matches = [
                _Acl.StatementProperty(
                    byte_match_statement=_Acl.ByteMatchStatementProperty(
                        field_to_match=_Acl.FieldToMatchProperty(uri_path={}),
                        positional_constraint="STARTS_WITH",
                        search_string=prefix,
                        text_transformations=[_Acl.TextTransformationProperty(priority=0, type="NONE")],
                    )
                )
                for prefix in public_path_prefixes
            ]
            scope_down = (
                matches[0]
                if len(matches) == 1
                else _Acl.StatementProperty(or_statement=_Acl.OrStatementProperty(statements=matches))
            )
            public_rules.append(
                _Acl.RuleProperty(
                    name="RateLimitPublicPathsPerIp",
                    priority=2,
                    action=_Acl.RuleActionProperty(block={}),
                    statement=_Acl.StatementProperty(
                        rate_based_statement=_Acl.RateBasedStatementProperty(
                            limit=public_requests_per_5_minutes,
                            aggregate_key_type="IP",
                            evaluation_window_sec=300,
                            scope_down_statement=scope_down,
                        )
                    ),
                    visibility_config=_visibility(f"{metric_prefix}RateLimitPublicPaths"),
                )
            )
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
                *public_rules,
            ],
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
