"""Image sets: the seeded synthetic shapes generator, folder-per-class sets, image walks.

``write_shapes(root, images_per_class=12, width=96, height=96)`` writes ROOT/images/<class>/*.png
(a folder-per-class set for :func:`bowlrp.fit`) and ROOT/masks/<class>/*.png (object masks for
:func:`bowlrp.evaluate_folder`); the knobs and their defaults are :class:`ShapesOptions`'s.
"""

from ._bowlrp.datasets import (
    ShapesOptions,
    find_images,
    generate_shape,
    has_image_extension,
    scan_folder,
    shape_mask_path,
    voc_classes,
    write_shapes,
)

__all__ = [
    "ShapesOptions",
    "find_images",
    "generate_shape",
    "has_image_extension",
    "scan_folder",
    "shape_mask_path",
    "voc_classes",
    "write_shapes",
]
