"""Synthetic handwriting from KanjiVG's strokes, written as real ETL9G files.

    strokes     KanjiVG's SVG paths -> cubic segments; strokes joined or split
    marks       voicing marks as a writer writes them (generator version 5)
    generator   writers' habits -> fields like ETL9G's scans -> ETL9G_01 ... and a manifest
    forms.json  the handwritten variant forms, as data
"""
