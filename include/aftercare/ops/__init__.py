"""The ops console's warehouse side (issue 15): what the console reads (`read`, over the queries
of `sql/ops/`) and the operators' actions a warehouse task applies (`actions`)."""
