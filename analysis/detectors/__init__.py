"""Cut detection: ``content`` finds cuts in the frames, ``cut_filters`` gives second opinions on them."""
