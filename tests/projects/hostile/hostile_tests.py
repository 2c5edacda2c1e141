"""The --test-command of the hostile scenario: fails, printing what must stay inert."""

import sys

print("```")
print("</details>")
print("<img src=x> [Approve](https://x) @org/team")
print("::add-mask::z")
print("::set-output name=x::y")
print("##[add-mask]w")
print("# Owned")
print("%%{init: {'theme': 'dark'}}%%")
sys.exit(1)
