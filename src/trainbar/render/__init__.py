"""Pure renderers: a snapshot goes in, text comes out. No I/O, no clock."""
