"""The inbox's widgets: presentation only. They receive data as attributes or method calls
from their screen and tell it what the user did with messages; the screen does the I/O."""
