# Tier-0 services always need a named human approver (held until one decides).
package slo.guardrails

import rego.v1

automatic_approvers := {"", "auto-approval", "workflow", "anonymous"}

violation contains v if {
	input.tier == 0
	not named_approver
	v := {
		"rule": "approval",
		"action": "hold",
		"message": "approval: tier-0 services need a named human approver",
	}
}

named_approver if {
	is_string(input.approver)
	not automatic_approvers[lower(trim_space(input.approver))]
}
