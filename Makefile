# Entry points; packaging lives in installer/Makefile.
.PHONY: package bundle check clean apt-repo msi
package bundle check clean apt-repo msi:
	$(MAKE) -C installer $@
