"""Service discovery: registry inventory diffs, change events, and the structural mapping that turns a service's
observed traffic, declared metadata and docs into dependency edges."""
