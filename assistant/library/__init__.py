"""The team's own library: files added, replaced, removed and reviewed through `assistant library` (and the
admin HTTP routes), every change in an audit log, and the index rebuilt incrementally after each change."""
