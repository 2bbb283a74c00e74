"""The run layer shared by every command and both model families.

- :mod:`.outputs`: outputs that are never written over an input, never half-written, never by two
  processes at once, and replaced only at the end of a successful run;
- :mod:`.record`: the run record (``run.json``) written beside every output;
- :mod:`.training`: one training run (compile, callbacks, fit, best/final weights, history),
  interruptible and resumable;
- :mod:`.models`: one loader for every model folder.
"""
