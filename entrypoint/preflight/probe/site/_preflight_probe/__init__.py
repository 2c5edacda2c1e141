"""Preflight's probe: asks a Django project, in its own interpreter, what its migrations do.

Standalone: standard library and Django only, never an import of `preflight`, because it
runs in the user's interpreter (their virtualenv), not Preflight's. Supported: Python 3.8+
and Django 4.2 LTS to 5.2 LTS (tested on 4.2 and 5.2). Only this package's folder is put
on the project's PYTHONPATH, under this private name, so nothing of Preflight's shadows a
module of the project.

    python -m _preflight_probe --requests-fd R --answers-fd A

starts one session (see `session`): Django is set up once, then each request read from
fd R (one JSON line: {"protocol", "id", "verb", ...}) is answered on fd A, with progress
events on the way. Verbs: plan (graph), sql (sql), apply and roundtrip (apply), history,
deploy and verify (deploy: the real target), shutdown.
The project's own output (stdout and stderr) never reaches fd A.
"""

PROTOCOL = "preflight-probe/2"
