"""Offline evaluation of embedders: retrieval Recall@K, zero-shot accuracy, speed (torch vs ONNX).

Metric math lives in ``metrics`` as pure functions; dataset readers in ``datasets``.
"""
