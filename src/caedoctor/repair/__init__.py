"""Repair: apply the fixes that measurably helped (verified by probes), retrain, and show before and after."""
