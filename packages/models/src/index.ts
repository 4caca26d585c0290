// Public API of @proj/models. Nothing is exported yet: see README.md.
export {};
