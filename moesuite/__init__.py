"""The moesuite command line and settings: the adapters' package (the domain lives in core_model/,
fraud/ and codeassist/). Kept light: importing it loads nothing heavy."""
