"""The doctor's checks, one module per concern. Each check takes a
:class:`~connectors.doctor.context.DoctorContext` and returns findings."""
