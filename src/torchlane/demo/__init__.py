"""The built-in sample project and the end-to-end story that `make demo` tells."""
