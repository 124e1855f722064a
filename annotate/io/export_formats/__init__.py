"""Export formats for other tools: Prodigy and doccano JSONL, a Hugging Face ``datasets``
directory, a spaCy ``DocBin``. Each reads the project through
:class:`~annotate.io.export_formats.base.ExportContext` (its schema, the command's options)
and lists there what it cannot carry; :mod:`annotate.io.exporting` registers them."""
