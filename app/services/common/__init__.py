"""What every room shares: the answer of a use case, the write context and request, version
tags, the unit of work that carries what an attempt touched, and the one way a resource's
version is stored (`resource_store`)."""
