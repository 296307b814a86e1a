# Entry points; packaging lives in installer/Makefile.
.PHONY: package bundle check clean
package bundle check clean:
	$(MAKE) -C installer $@
