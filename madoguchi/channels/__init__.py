"""Ways of reaching residents. `base` is what domain apps use; `line` is the LINE integration."""
