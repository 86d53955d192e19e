"""What every room shares: the answer of a use case, the write context and request, version
tags, and the unit of work that carries what an attempt touched."""
