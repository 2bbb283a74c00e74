"""The papers' experiments: the tables and plots that ``experiments/<paper>/<name>.sh`` end with.

Each experiment has a module ``<paper>_<name>`` (``-`` in the name as ``_``) defining
``report(run_dir, mode) -> results.Results``, which reads what the script's commands wrote into
the run folder; :mod:`.results` writes the table (TSV + Markdown), the figures and the run record.
"""
