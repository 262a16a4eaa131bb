# No target above the ceiling its hard dependencies allow (revise down until it fits).
package slo.guardrails

import rego.v1

violation contains v if {
	input.dependency_ceiling != null
	input.target > input.dependency_ceiling + 1e-12
	v := {
		"rule": "ceiling",
		"action": "revise",
		"message": sprintf("ceiling: target %s is above the dependency ceiling %s", [input.text.target, input.text.dependency_ceiling]),
	}
}

# No target above what history attained.
violation contains v if {
	input.attained != null
	input.target > input.attained + 1e-12
	v := {
		"rule": "history",
		"action": "revise",
		"message": sprintf("history: target %s is above what history attained (%s)", [input.text.target, input.text.attained]),
	}
}
