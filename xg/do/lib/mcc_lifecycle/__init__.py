"""The AWS side of a generated project's do/ scripts (build, push, submit, deploy, test, logs, clean).

Copied verbatim into every project as ``do/lib/mcc_lifecycle``; it never imports the generator. The do/
scripts source ``do/config`` (which exports every setting) and call ``python -m mcc_lifecycle ACTION``.
"""
