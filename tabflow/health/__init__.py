"""The pipeline-health page behind `tabflow health`: the newest runs gathered through the
metadata layer (collect.py) and drawn as one self-contained HTML page (page.py)."""
