// For the bridge's own tests: a module that fails while it loads.
throw new Error("this module cannot be loaded: missing configuration");
