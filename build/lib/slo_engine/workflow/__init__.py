"""The reasoning workflow: one step function per state of the Step Functions definition."""
