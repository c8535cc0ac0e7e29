"""Reports: aggregate figures for heads of units, the province and partners (issue 16)."""
