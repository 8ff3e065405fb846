"""Machinery behind the torch heads (``..torch_heads``).

``preprocess`` is numpy only; ``modules``, ``train``, ``prototype`` and
``state`` import torch, so ``torch_heads`` imports them inside methods: listing
or validating heads never pays for importing torch.
"""
