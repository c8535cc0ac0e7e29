"""The MoU registry: agreements between organisations, their lifecycle, documents and coverage."""
