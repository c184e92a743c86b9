"""Adverse events arrive with the CAR-T safety issue; the app exists so the layout is settled."""
