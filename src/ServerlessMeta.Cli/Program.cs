using ServerlessMeta.Cli;

return await SmetaCommand.Create().Parse(args).InvokeAsync().ConfigureAwait(false);
