"""MAIST's version, one home: the package reports it, exports record it."""

VERSION = "0.1.0"
