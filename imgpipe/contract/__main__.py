"""`python -m imgpipe.contract`: rewrite the published JSON Schemas in schemas/."""

from imgpipe.contract.schemas import write_schemas

for path in write_schemas():
    print(f"wrote {path}")
