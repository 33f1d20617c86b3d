"""archbench: choose a model architecture for real deployment hardware."""

__version__ = "0.1.0"
SCHEMA_VERSION = "1.1"
