"""Cold archive: BagIt bags (naming, packing, tape spanning, verify, restore)."""
